"""From a model source (directory, Hub) to a served model: sizing, engine, task."""
