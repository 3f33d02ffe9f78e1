"""Figures drawn from saved run folders only (so a copied folder can be redrawn)."""

import matplotlib

matplotlib.use("Agg")
