"""Pure nn.Modules behind a name registry: `create_model("mlp", width=800)`."""
from models.registry import (
    UnknownNameError,
    check_name,
    create_model,
    import_submodules,
    list_models,
    model_arguments,
    model_builder,
    param_count,
    register_model,
)

import_submodules(__name__, __path__)  # each model module registers its models

__all__ = [
    "UnknownNameError", "check_name", "create_model", "list_models", "model_arguments", "model_builder",
    "param_count", "register_model",
]
