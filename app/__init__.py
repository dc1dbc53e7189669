"""The Panel application (composition only; no simulation logic). Arrives with the
exploration-app issue; nothing here imports Panel yet."""
