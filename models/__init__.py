"""Pure nn.Modules behind a name registry: `create_model("mlp", width=800)`."""
from models import char_lm, cnn, mlp, numpy_mlp, palindrome, rnn, text  # noqa: F401  (registers the models)
from models.registry import (
    UnknownNameError,
    check_name,
    create_model,
    list_models,
    model_arguments,
    model_builder,
    param_count,
    register_model,
)

__all__ = [
    "UnknownNameError", "check_name", "create_model", "list_models", "model_arguments", "model_builder",
    "param_count", "register_model",
]
