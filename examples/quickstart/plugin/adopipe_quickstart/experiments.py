"""A custom ado experiment whose result is a known function of its inputs.

ado imports this module through the "ado.custom_experiments" entry point
(see pyproject.toml); the decorator registers the experiment
"quickstart_poly" with ado's custom_experiments actuator. Its measured
property "y" is x0*x0 + x1, so a test can check every stored measurement
exactly.
"""

from typing import Any

from ado.modules.actuators.custom_experiments import custom_experiment


@custom_experiment(output_property_identifiers=["y"])
def quickstart_poly(x0: int, x1: int) -> dict[str, Any]:
    return {"y": x0 * x0 + x1}
