"""The API's objects: the generated models and parameter types, the
hand-written message and parameter helpers, and the model names."""
