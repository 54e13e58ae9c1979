import { type Template } from '@sandbox/domain';
import { type DataSource, type Repository } from 'typeorm';
import { TemplateEntity } from '../entities/template.entity';
import { toTemplate } from '../mappers';

export class TemplateRepository {
  private readonly repo: Repository<TemplateEntity>;

  constructor(ds: DataSource) {
    this.repo = ds.getRepository(TemplateEntity);
  }

  async findAll(): Promise<Template[]> {
    return (await this.repo.find({ order: { id: 'ASC' } })).map(toTemplate);
  }

  async findById(id: string): Promise<Template | null> {
    const e = await this.repo.findOneBy({ id });
    return e ? toTemplate(e) : null;
  }
}
