"""Records that leave Slack: the improvement report (PDF, 8D), the complaint register
(XLSX/CSV) and the archive of a closed case.

`content` and `register` turn a case into plain data (names and local times already
filled in); `pdf` and `sheets` turn that data into files. fpdf2 and openpyxl are imported
only inside the functions that make a file, so the web process never loads them: files
are made by the worker (bot/slack/documents.py) or by the CLI.
"""
