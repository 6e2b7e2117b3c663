"""Token classification (named entities, parts of speech): request shapes, the pipeline's aggregation in numpy, the
tagger that windows long texts, and its served model."""
