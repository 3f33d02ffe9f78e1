"""User-facing errors: anything a user can cause raises `BiaslearnError` with a one-line fix."""


class BiaslearnError(ValueError):
    """A mistake in user input (config, data, file, argument). The CLI prints it on one line
    and exits with status 2; the Python API lets it propagate."""


def check_finite(name: str, tensor) -> None:
    """Raise if `tensor` holds NaN or infinity (user-supplied inputs to the Python API)."""
    import torch

    if not torch.is_tensor(tensor):
        raise BiaslearnError(f"{name}: expected a torch.Tensor, got {type(tensor).__name__}")
    if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
        bad = int((~torch.isfinite(tensor)).sum())
        raise BiaslearnError(f"{name}: contains {bad} NaN/inf value(s); clean the input before passing it")
