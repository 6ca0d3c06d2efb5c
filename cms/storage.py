"""Private media on local disk: the files have no URL at all."""

from django.core.files.storage import FileSystemStorage
from django.utils.deconstruct import deconstructible


@deconstructible(path="cms.storage.PrivateFileSystemStorage")
class PrivateFileSystemStorage(FileSystemStorage):
    """Recordings and consent evidence. Django's FileSystemStorage falls back to MEDIA_URL
    when base_url is None; this one never does, so `.url()` raises ValueError and the files
    are reachable only through the permission-checked views in stories.views."""

    @property
    def base_url(self):
        return None
