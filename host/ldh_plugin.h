#pragma once

/*
 * The C interface of ldh event handler plugins (docs/events.md#plugins).
 *
 * A plugin is a shared library that exports the four functions below with C linkage. ldh loads
 * it with dlopen from the path a configuration gives (`handlers: {NAME: {plugin: PATH,
 * config: {...}}}`) and refuses it, naming the file and the problem, when a function is
 * missing or ldh_plugin_api_version() returns another version than the LDH_PLUGIN_API_VERSION
 * this ldh was built with.
 *
 * Threads: ldh creates one handler per event processor worker, from one thread, before any
 * event is handled; each handler is called from one worker thread at a time, different
 * handlers concurrently. Handlers are destroyed after the last event, before dlclose.
 *
 * Events: ldh_handler_handle receives one event as UTF-8 JSON text (NUL-terminated; `size`
 * excludes the NUL):
 *   {"type":"event","id":"...","event":"temperature_alert","priority":"high","rule":0,
 *    "text":"High temperature detected: 104.5°C","record":{"sensor_id":7,"temperature":104.5}}
 * It returns LDH_HANDLER_OK once the event is handled, LDH_HANDLER_RETRY for a transient
 * failure (ldh tries again later, with exponential backoff, up to retry.maxAttempts), or
 * LDH_HANDLER_FAILED for a permanent one (the event is dead-lettered at once). It may write a
 * NUL-terminated message of at most `message_capacity` bytes (the NUL included) into `message`;
 * ldh records a failure's message in the dead-letter file. Handlers must not throw exceptions
 * across this interface and should bound the time one call takes.
 */

#include <stddef.h>
#include <stdint.h>

/* The version of this interface. A change to any signature or meaning here increments it. */
#define LDH_PLUGIN_API_VERSION 1u

/* What ldh_handler_handle returns. */
#define LDH_HANDLER_OK 0
#define LDH_HANDLER_RETRY 1
#define LDH_HANDLER_FAILED 2

/* Marks the four functions for export when the plugin is built with -fvisibility=hidden. */
#define LDH_PLUGIN_EXPORT __attribute__((visibility("default")))

#ifdef __cplusplus
extern "C" {
#endif

/* Returns LDH_PLUGIN_API_VERSION as the plugin saw it when it was compiled. */
LDH_PLUGIN_EXPORT uint32_t ldh_plugin_api_version(void);

/*
 * Creates a handler. `name` is its name under `handlers`; `config_json` is its `config` map as
 * a JSON object ("{}" when the configuration gives none). Returns NULL on failure, with a
 * NUL-terminated reason of at most `error_capacity` bytes in `error`: ldh then refuses to run.
 */
LDH_PLUGIN_EXPORT void* ldh_handler_create(const char* name, const char* config_json, char* error,
                                           size_t error_capacity);

/* Handles one event; returns LDH_HANDLER_OK, LDH_HANDLER_RETRY or LDH_HANDLER_FAILED. */
LDH_PLUGIN_EXPORT int ldh_handler_handle(void* handler, const char* event_json, size_t size,
                                         char* message, size_t message_capacity);

/* Destroys a handler made by ldh_handler_create. */
LDH_PLUGIN_EXPORT void ldh_handler_destroy(void* handler);

#ifdef __cplusplus
}
#endif

/* The functions' types, for loaders. */
typedef uint32_t (*ldh_plugin_api_version_function)(void);
typedef void* (*ldh_handler_create_function)(const char*, const char*, char*, size_t);
typedef int (*ldh_handler_handle_function)(void*, const char*, size_t, char*, size_t);
typedef void (*ldh_handler_destroy_function)(void*);
