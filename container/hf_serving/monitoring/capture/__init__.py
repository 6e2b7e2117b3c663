"""Data capture: a sample of what the model saw and answered, kept where SageMaker Model Monitor's tools read it.

On SageMaker the platform captures (DataCaptureConfig); under `docker run`, Kubernetes or KServe nothing would. Each
worker samples its answered requests (DATA_CAPTURE_PERCENT), hands each one to a bounded buffer in memory and goes on:
a background thread writes the buffer to the destination (DATA_CAPTURE_DESTINATION: a directory, an s3:// prefix or
an http(s):// CloudEvents sink) on size, on time and when the worker ends. Nothing here may slow, fail or change an
answer: what cannot be kept is dropped, counted in /metrics and logged once a minute.

    exchange.py      what the request path hands over (an Exchange), cut to the record size limit
    record.py        an Exchange as SageMaker's capture record (JSON Lines), its encodings
    sampler.py       which requests are captured
    writer.py        the bounded buffer and its writing thread
    destinations.py  where records go: which destination a setting names, the capture layout
    directory.py, s3.py, cloudevents.py   the three destinations
    counts.py        the drop counters in /metrics and the once-a-minute log
    capture.py       DataCapture: the worker's one object, made from settings
"""
