export declare const RUNTIME_MODULES: string[];
export declare function moduleClosure(root?: string, options?: { linuxX64Only?: boolean }): string[];
