"""`armswatch web`: the analyst's page (app.py), served by worker/cli_web.py."""
