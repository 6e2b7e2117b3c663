"""What the container tells an operator: Prometheus metrics, Server-Timing, machine-readable logs."""
