"""hccbayes.inference.fitting: sampling a survival model (``fit``: nutpie, compile once per model
structure), the diagnostics gate (``diagnostics``) and the hashed, verified fit cache (``cache``)."""
