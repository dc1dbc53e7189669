"""Reusable Panel components (param.Parameterized state + Viewer views) for the app and
JupyterLab. Arrive with the exploration-app issue."""
