"""Puts tests/ on the import path of every tier, for the shared names of contract.py."""
