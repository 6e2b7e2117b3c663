"""The load test's locustfile (load/locustfile.py), in-process: the SageMaker mode against botocore's Stubber, the HTTP
mode against a local server. Its run against the real stack is tests/integration/test_load.py."""
