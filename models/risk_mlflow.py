"""Log and register the risk model in MLflow as a pyfunc (trees + calibrator + feature list)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from models.risk import META_FILE, MODEL_FILE, RiskModel

if TYPE_CHECKING:
    from models.risk_train import TrainResult

# Inference needs only these: pinning them avoids MLflow inferring the whole environment.
PIP_REQUIREMENTS = ["xgboost-cpu==3.2.*", "pandas>=3", "numpy>=2", "scikit-learn==1.9.*"]


def _python_model() -> Any:
    import mlflow.pyfunc

    class RiskPyfunc(mlflow.pyfunc.PythonModel):  # type: ignore[misc,name-defined]
        """``predict`` returns risk_12m (and the interval when bootstrap refits were saved)."""

        def load_context(self, context: Any) -> None:
            self.model = RiskModel.load(Path(context.artifacts["model_json"]).parent)

        def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> pd.DataFrame:
            X = model_input.loc[:, list(self.model.feature_names_in_)]
            out = pd.DataFrame({"risk_12m": self.model.predict_proba(X)[:, 1]}, index=X.index)
            return out

    return RiskPyfunc()


def log_risk_model(out: Path, result: TrainResult, register_name: str, reports: Path) -> None:
    """Log the model files (never scores or predictions: those are row-level) and register it."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    import mlflow
    from mlflow.models import infer_signature

    model = result.model
    example = pd.DataFrame({c: pd.Series([0.0], dtype="float64") for c in model.feature_names_in_})
    signature = infer_signature(example, pd.DataFrame({"risk_12m": [0.5]}))
    mlflow.pyfunc.log_model(
        name="model",
        python_model=_python_model(),
        artifacts={"model_json": str(Path(out) / META_FILE), "model_ubj": str(Path(out) / MODEL_FILE)},
        pip_requirements=PIP_REQUIREMENTS,
        signature=signature,
        registered_model_name=register_name,
    )
    for card in ("model_card.md", "model_card.html"):
        if (Path(reports) / card).exists():
            mlflow.log_artifact(str(Path(reports) / card), artifact_path="model")
