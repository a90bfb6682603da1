// The Telegram client: login, dialogs, send, updates (see docs/ARCHITECTURE.md).
