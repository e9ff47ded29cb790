// Registration of a translation unit's extern "C" kernels with the emulator (see cuemu.h).
#pragma once
#include <functional>
#include <map>
#include <string>
#include <type_traits>
#include <utility>

std::map<std::string, std::function<void(void**)>>& emu_registry();

template <typename... P, size_t... I>
void emu_call(void (*f)(P...), void** args, std::index_sequence<I...>) {
    f(*reinterpret_cast<std::remove_cv_t<std::remove_reference_t<P>>*>(args[I])...);
}

template <typename... P> std::function<void(void**)> emu_trampoline(void (*f)(P...)) {
    return [f](void** args) { emu_call(f, args, std::index_sequence_for<P...>{}); };
}

struct EmuRegistrar {
    EmuRegistrar(const char* name, std::function<void(void**)> t) { emu_registry()[name] = std::move(t); }
};

#define EMU_REGISTER(name) static EmuRegistrar emu_reg_##name(#name, emu_trampoline(&name));
