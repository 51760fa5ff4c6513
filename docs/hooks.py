"""MkDocs hook: the pages link the project's pictures and result files where they live
(``../assets/...``, ``../notebooks/...``, which GitHub shows); the site build adds those
files and rewrites the links to match, so that its link check covers them."""
import os

from mkdocs.structure.files import File

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: folders beside docs/ whose files the pages link
SHARED = ("assets", "notebooks")


def on_files(files, config):
    for top in SHARED:
        for folder, _, names in os.walk(os.path.join(ROOT, top)):
            for name in names:
                path = os.path.relpath(os.path.join(folder, name), ROOT)
                files.append(File(path, ROOT, config["site_dir"], config["use_directory_urls"]))
    return files


def on_page_markdown(markdown, page, config, files):
    for top in SHARED:
        markdown = markdown.replace("](../%s/" % top, "](%s/" % top)
    return markdown
