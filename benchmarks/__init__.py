"""Scripts that print figures: ``python -m benchmarks.reliability``, ``benchmarks/lab_roundtrip.py``."""
