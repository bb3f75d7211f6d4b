"""Case files (卷宗): attachments on cases, sessions, follow-ups and hotline calls, their storage,
and the printable documents generated from the records. See README.md beside this file."""
