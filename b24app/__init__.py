"""b24app core, the ground floor: configuration, database, installation store, the Bitrix24 REST
client, the inbox and its dispatch, the one verifier of everything Bitrix24 sends.

The core imports no feature package; ``service`` assembles the core and the features
(``b24app.app.build_app``). See docs/architecture.md.
"""
