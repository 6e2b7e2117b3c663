"""The load test (load/README.md): load/locustfile.py, which locust runs (`make load`)."""
