"""OpenVINO, the CPU engine for bfloat16 and int8."""
