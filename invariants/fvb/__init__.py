"""Frei, Vardi, Bartlett, Srebro, Hu, "Implicit Bias in Leaky ReLU Networks Trained on High-Dimensional
Data" (ICLR 2023; ``../shared/seeds/``): Thm 3.2 (the max-margin program), Thm 4.2 (GD bounds), their
lemmas, and the regimes (``regime``).  Every module here is imported by ``invariants.load_all()``.
"""
