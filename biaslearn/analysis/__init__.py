"""Analysis of trained networks and their outputs (forecast metrics, fixed points and Jacobians)."""
