"""Zero-shot classification on an NLI model: request shapes, the classifier and its served model."""
