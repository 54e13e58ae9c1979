import { createZodDto as nestjsZodDto, type ZodDto } from 'nestjs-zod';

type Schema = Parameters<typeof nestjsZodDto>[0];

/**
 * nestjs-zod's DTO, with zod's compact `type: ["string", "null"]` spelled as the `anyOf` it stands
 * for: @nestjs/swagger reads a `type` array as "an array of", and documented every nullable field as
 * an array of strings.
 */
export function createZodDto<S extends Schema>(schema: S): ZodDto<S, false> {
  const Base = nestjsZodDto(schema);
  const metadata = Base._OPENAPI_METADATA_FACTORY.bind(Base);
  Base._OPENAPI_METADATA_FACTORY = () => {
    const properties = metadata() as Record<string, Record<string, unknown>>;
    for (const property of Object.values(properties)) {
      const types = property['type'];
      if (!Array.isArray(types)) continue;
      property['anyOf'] = types.map((type: unknown) => ({ type }));
      property['type'] = '';
    }
    return properties;
  };
  return Base;
}
