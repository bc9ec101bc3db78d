"""The interactive API docs (`/docs`, `/redoc`), served with their assets from the installed package."""
