// Placeholder translation unit so the library target exists before its first real source.
namespace emtiaz { [[maybe_unused]] static int tenants_placeholder = 0; }
