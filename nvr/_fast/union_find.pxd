# Union-find over a parent array, shared by the motion labelling and the region merging.

from libc.stdint cimport int32_t

ctypedef fused index_t:
    int32_t
    Py_ssize_t


cdef inline index_t find_root(index_t* parent, index_t i) noexcept nogil:
    """The root of ``i``'s set, halving the path on the way."""
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i
