"""The model-server glue: the MMS handler, the hook runner, the default hooks, request contexts and worker reports."""
