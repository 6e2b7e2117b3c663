"""Text classification (sentiment, emotion, ...): request shapes, the classifier and its served model."""
