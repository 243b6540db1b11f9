"""The turn ledger: the only code that moves money (turn_ledger.py has the invariant)."""
