# Copy to instance/config.py. Environment variables override these values.
SECRET_KEY = "a long random string"
# DATABASE_URL is read from the environment (postgresql+psycopg://user@host/db).
MAIL_SERVER = "smtp.example.it"
MAIL_PORT = 587
MAIL_USE_TLS = True
MAIL_USERNAME = "bando"
MAIL_PASSWORD = "secret"
MAIL_SENDER = "bando@comune.example.it"
