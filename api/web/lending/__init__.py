"""The lending workflow's pages: members' projects, requests and notifications under /me, the
lab technicians' queues and decisions under /lab."""
