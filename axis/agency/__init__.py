"""What an agency's DMS uses: the Python client, the reference push receiver, the demo."""
