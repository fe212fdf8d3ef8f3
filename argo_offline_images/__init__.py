"""The offline image builder: kind, kubectl, the kind node image and the stack's images, built on this machine from
their Go modules at the pinned tags plus Debian's packages, with a manifest of every difference from what users
pull. A product of its own beside the suite: it takes the image list as input (``--images``), imports nothing of
the suite, and the suite reads its manifest through one reader (``argo_tutorial_suite.backends.kind.localbuild``).

Pure rules: ``gomod`` (module facts), ``recipes`` (node recipes, differences), ``stackrecipes`` and ``cirecipes``
(one recipe per stack and CI image), ``releasemanifests`` (release URLs and rendered manifests); I/O: ``build``
(Go builds, Debian root filesystems, images), ``nodeimage`` and ``stackimages``; the command: ``cli``
(``python -m argo_offline_images``)."""
