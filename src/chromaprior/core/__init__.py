"""The core: images in and out (io), the degradation operators, the lifts, colour maths,
filters, tiled processing and colour hints. Depends on nothing else in the package."""
