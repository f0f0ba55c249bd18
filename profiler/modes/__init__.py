"""What ``python -m profiler.run`` does once its options are parsed: one module per mode."""
