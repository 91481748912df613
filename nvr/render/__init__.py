"""Pictures for people: the live view's overlays and JPEGs (``overlays``), one JPEG shared by
every viewer of a frame (``shared``), a tracked object's snapshots, thumbnails and best image
(``object_image``) and an event's images from its object's best frame (``event_images``)."""
