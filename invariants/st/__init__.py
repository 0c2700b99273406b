"""Sun & Tran's conjectures on gradient flow for two-layer ReLU networks with biases on nearly-orthogonal
data (slides, ``../shared/seeds/``).  Every module here is imported by ``invariants.load_all()``.
"""
