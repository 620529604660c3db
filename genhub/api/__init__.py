"""How clients reach GenHub: the REST API (one NinjaAPI in root.py, a router per
resource here and one per modality app) and the job WebSocket. Nothing here
imports torch or genhub.worker."""
