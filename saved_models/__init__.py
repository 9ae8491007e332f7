"""The trained artifacts (NAME.keras), their cards (NAME.json) and figures (NAME-*.png)."""
