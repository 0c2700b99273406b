"""What a theorist runs: counterexample hunts and boundary walks (``hunt``), the regression corpus
(``corpus``), the theory report (``report``) and the command line (``cli``).  Workflows sit above the
paper packages and reach claims only through the registry (``invariants.get``).
"""
