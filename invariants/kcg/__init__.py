"""Kou, Chen, Gu, "Implicit Bias of Gradient Descent for Two-layer ReLU and Leaky ReLU Networks on Nearly
Orthogonal Data" (NeurIPS 2023; ``../shared/seeds/``): its claims, one module per family, and its regime
(``regime``: Thm 4.1 / 4.3's assumptions, the declared constants, the case strategy).  Every module here
is imported by ``invariants.load_all()``; importing a module registers its claims and checks.
"""
