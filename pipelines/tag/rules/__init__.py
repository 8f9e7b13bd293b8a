"""The rule-based transfer extractor: its word sets (words.py), for now."""
