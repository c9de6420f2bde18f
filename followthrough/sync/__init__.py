"""Live sources: pull what is new since the last sync (IMAP, Slack Web API, CRMs), then run the pipeline."""
